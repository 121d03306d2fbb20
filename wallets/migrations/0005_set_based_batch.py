from django.db import migrations

from wallets.ledger import sql


class Migration(migrations.Migration):
    dependencies = [("wallets", "0004_leaner_entry_indexes")]

    operations = [migrations.RunSQL(sql.BATCH_FUNCTION_0005, sql.BATCH_FUNCTION_0005_REVERSE)]
