from django.db import migrations

from wallets.ledger import sql

CURRENCIES = [
    ("USD", 2, "US dollar"),
    ("EUR", 2, "Euro"),
    ("GBP", 2, "Pound sterling"),
    ("JPY", 0, "Japanese yen"),
    ("USDT", 6, "Tether USD"),
    ("USDC", 6, "USD Coin"),
    ("ETH", 18, "Ether"),
    ("BTC", 8, "Bitcoin"),
    ("TRX", 6, "Tron"),
]


def add_currencies(apps, schema_editor):
    Currency = apps.get_model("wallets", "Currency")
    for code, exponent, name in CURRENCIES:
        Currency.objects.update_or_create(code=code, defaults={"exponent": exponent, "name": name})


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]

    operations = [
        migrations.RunSQL(sql.WALLS, sql.WALLS_REVERSE),
        migrations.RunSQL(sql.POST_FUNCTION, sql.POST_FUNCTION_REVERSE),
        migrations.RunPython(add_currencies, migrations.RunPython.noop),
    ]
