"""Personal API tokens, stored hashed, replace DRF's authtoken (which kept keys in clear).

Existing authtoken keys keep working: each is hashed into an ApiToken with write scope
(they could do everything their user's role allowed) that expires after the longest
lifetime allowed (NHIGOV_API_TOKEN_MAX_DAYS), so owners replace them with scoped tokens.
Then the plaintext table is dropped: rest_framework.authtoken is no longer installed, so
nothing else would ever remove it. This cannot be reversed (the keys are gone).

Also the index of session keys per user (nhigov.lib.sessions).
"""

import uuid
from datetime import UTC, datetime, timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone
from django.utils.crypto import salted_hmac

# Must stay equal to nhigov.lib.tokens.SALT (copied: a migration must not change later).
SALT = "nhigov.api-token"
LEGACY_TABLE = "authtoken_token"


def _aware(value):
    # SQLite hands raw-cursor timestamps back naive (or as text); they were stored in UTC.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def hash_legacy_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("nhigov", "ApiToken")
    now = timezone.now()
    expires = now + timedelta(days=getattr(settings, "NHIGOV_API_TOKEN_MAX_DAYS", 90))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {LEGACY_TABLE}")  # noqa: S608
        rows = cursor.fetchall()
    ApiToken.objects.bulk_create(
        ApiToken(code=uuid.uuid4(), user_id=user_id, name="Migrated API token",
                 prefix=key[:8], digest=salted_hmac(SALT, key, algorithm="sha256").hexdigest(),
                 scope="write", created_at=_aware(created) or now, expires_at=expires)
        for key, user_id, created in rows
    )
    schema_editor.execute(f"DROP TABLE {LEGACY_TABLE}")


class Migration(migrations.Migration):

    dependencies = [
        ('nhigov', '0003_audit_checkpoint'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.UUIDField(editable=False, unique=True)),
                ('name', models.CharField(max_length=100)),
                ('prefix', models.CharField(max_length=16)),
                ('digest', models.CharField(help_text='HMAC-SHA256 of the token.', max_length=64, unique=True)),
                ('scope', models.CharField(choices=[('read', 'Read only'), ('write', 'Read and write')], default='read', max_length=5)),
                ('created_at', models.DateTimeField()),
                ('expires_at', models.DateTimeField()),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.RunPython(hash_legacy_tokens, migrations.RunPython.noop, elidable=False),
        migrations.CreateModel(
            name='UserSession',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('session_key', models.CharField(max_length=40, unique=True)),
                ('created_at', models.DateTimeField()),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
    ]
