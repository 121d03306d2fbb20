from django.db import migrations

from wallets.ledger import sql


class Migration(migrations.Migration):
    dependencies = [("wallets", "0004_leaner_entry_indexes")]

    operations = [migrations.RunSQL(sql.BATCH_FUNCTION, sql.BATCH_FUNCTION_REVERSE)]
