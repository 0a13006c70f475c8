"""The SSO models, moved from `accounts` (its migration 0004): their tables exist in every tenant
schema already (made by accounts 0002, names kept with db_table), so only the state moves here."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('accounts', '0004_sso_models_to_their_own_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='OidcProvider',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('enabled', models.BooleanField(default=False)),
                        ('role_map', models.JSONField(blank=True, default=dict)),
                        ('default_role', models.CharField(default='member', max_length=20)),
                        ('allowed_domains', models.JSONField(blank=True, default=list)),
                        ('jit', models.BooleanField(default=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('issuer', models.CharField(blank=True, max_length=500)),
                        ('client_id', models.CharField(blank=True, max_length=255)),
                        ('client_secret_encrypted', models.TextField(blank=True)),
                        ('scopes', models.JSONField(blank=True, default=list)),
                        ('claim_email', models.CharField(default='email', max_length=100)),
                        ('claim_groups', models.CharField(default='groups', max_length=100)),
                    ],
                    options={
                        'db_table': 'accounts_oidcprovider',
                    },
                ),
                migrations.CreateModel(
                    name='SamlProvider',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('enabled', models.BooleanField(default=False)),
                        ('role_map', models.JSONField(blank=True, default=dict)),
                        ('default_role', models.CharField(default='member', max_length=20)),
                        ('allowed_domains', models.JSONField(blank=True, default=list)),
                        ('jit', models.BooleanField(default=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('idp_metadata_xml', models.TextField(blank=True)),
                        ('idp_metadata_url', models.CharField(blank=True, max_length=500)),
                        ('idp_entity_id', models.CharField(blank=True, max_length=500)),
                        ('attribute_email', models.CharField(default='email', max_length=200)),
                        ('attribute_groups', models.CharField(default='groups', max_length=200)),
                        ('allow_idp_initiated', models.BooleanField(default=False)),
                    ],
                    options={
                        'db_table': 'accounts_samlprovider',
                    },
                ),
                migrations.CreateModel(
                    name='SsoIdentity',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('protocol', models.CharField(choices=[('oidc', 'Oidc'), ('saml', 'Saml')], max_length=10)),
                        ('issuer', models.CharField(max_length=500)),
                        ('subject', models.CharField(max_length=500)),
                        ('email', models.CharField(blank=True, max_length=254)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('last_login_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sso_identities', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'accounts_ssoidentity',
                        'ordering': ['id'],
                        'constraints': [models.UniqueConstraint(fields=('protocol', 'issuer', 'subject'), name='sso_identity_unique')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
