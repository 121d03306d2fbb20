from django.db import migrations

from wallets.payments import sql


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_deposit_payment_id_and_shortfall"),
        ("wallets", "0007_partial_resolution_indexes"),
    ]

    operations = [
        migrations.RunSQL(sql.CREDIT_FUNCTION, reverse_sql=sql.CREDIT_FUNCTION_REVERSE),
    ]
