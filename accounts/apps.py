from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in as sso_logged_in
        from django.contrib.auth.signals import user_logged_in

        from .second_factor import note_step_owed
        from .sso import apply_claims_at_sign_in

        self.trim_admin()
        user_logged_in.connect(note_step_owed, dispatch_uid="cxm-second-factor")
        sso_logged_in.connect(apply_claims_at_sign_in, dispatch_uid="cxm-directory-claims")

    @staticmethod
    def trim_admin() -> None:
        """E-mail addresses live on the user, the provider comes from the environment and no tokens are
        kept: allauth's admin pages for them would only mislead. TOTP devices get CXM's own admin."""
        from allauth.account.models import EmailAddress
        from allauth.socialaccount.models import SocialApp, SocialToken
        from django.contrib import admin
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from .admin import TOTPDeviceAdmin

        for model in (EmailAddress, SocialApp, SocialToken, TOTPDevice):
            admin.site.unregister(model)
        admin.site.register(TOTPDevice, TOTPDeviceAdmin)
