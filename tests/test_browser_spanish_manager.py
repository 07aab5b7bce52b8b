"""On a phone, in Spanish: a manager signs in with the company account and a code, and reads Logistics.

Everything is real: the OpenID Connect provider (npm oidc-provider) on a local port, the TOTP code
from the device's key, Chromium at 375 px with a Spanish browser, axe-core on every CXM page visited.
"""

from datetime import UTC, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.axe import serious_violations
from tests.dashboard_data import experience, log
from tests.factories import CustomerFactory, DepartmentFactory, TouchpointFactory, UserFactory
from touchpoints.models import Stage

pytestmark = pytest.mark.browser


@pytest.fixture
def logistics(transactional_db, django_capture_on_commit_callbacks):
    """Logística with moments of truth at every stage, a customer at risk who brings in 2,131,200 € a year,
    and one experience logged yesterday at 22:34 UTC (23:34 in Madrid in winter). Returns that moment."""
    department = DepartmentFactory(code="logistics", name="Logística")
    stages = {
        "promesa-de-entrega": ("Promesa de entrega en la web", Stage.PERCEPTION),
        "entrega-a-tiempo": ("Entrega a tiempo", Stage.INTERACTION),
        "cortesia-del-conductor": ("Cortesía del conductor", Stage.INTERACTION),
        "encuesta-postventa": ("Encuesta de satisfacción posventa", Stage.REMEMBRANCE),
    }
    touchpoints = {
        code: TouchpointFactory(code=code, name=name, stage=stage, owner=department)
        for code, (name, stage) in stages.items()
    }
    staff = UserFactory(username="pablo", first_name="Pablo", role="staff", departments=[department])
    big = CustomerFactory(external_id="ACME-1", name="Acme Ibérica", our_revenue=Decimal("2131200"))
    moment = (timezone.now().astimezone(UTC) - timedelta(days=1)).replace(hour=22, minute=34, second=0)
    items = [
        experience(big, touchpoints["entrega-a-tiempo"], "negative", intensity=5, occurred_at=moment.isoformat()),
        experience(big, touchpoints["promesa-de-entrega"], "positive", days_ago=2),
        experience(big, touchpoints["encuesta-postventa"], "neutral", days_ago=3),
        experience(big, touchpoints["cortesia-del-conductor"], "positive", days_ago=4),
    ]
    log(django_capture_on_commit_callbacks, *items, user=staff)
    return moment


def test_spanish_manager_signs_in_with_company_account_and_code_and_reads_logistics_on_a_phone(
    logistics, browser, live_server, oidc_provider, settings
):
    settings.CXM_REQUIRE_TOTP = True
    lola = UserFactory(username="lola", email="lola@acme.example", role="staff", language="es")
    device = TOTPDevice.objects.create(user=lola, name="móvil", confirmed=True)
    oidc_provider(
        {
            "lola@acme": {
                "email": "lola@acme.example",
                "email_verified": True,
                "cxm_role": "manager",
                "cxm_departments": ["logistics"],
            }
        },
        f"{live_server.url}/accounts/oidc/company/login/callback/",
    )
    context = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 800}, locale="es-ES")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    findings: list[str] = []

    # The log-in page, in the browser's language, offers the company account.
    page.goto("/login/")
    assert page.locator("h1").inner_text() == "Iniciar sesión en CXM"
    findings += serious_violations(page)
    page.get_by_role("button", name="Entrar con tu Acme account").click()

    # The company's provider: its own log-in page, then back to CXM, which asks for the code.
    page.wait_for_url(lambda url: "127.0.0.1" in url and "/interaction/" in url)
    page.fill("input[name=login]", "lola@acme")
    page.fill("input[name=password]", "contraseña de la empresa")
    page.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/login/second-factor/" in url)
    assert page.locator("h1").inner_text() == "Confirma que eres tú"
    findings += serious_violations(page)
    page.keyboard.type(f"{totp(device.bin_key):06d}")  # the code field has the focus
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/second-factor/" not in url)

    # The department page, in Spanish, with euro amounts and Madrid's clock.
    page.goto("/dashboards/logistics/")
    assert page.locator("h1").inner_text() == "Logística"
    body = page.locator("main").inner_text()
    assert "Deuda de recuperación" in body and "Peores momentos de la verdad" in body
    assert "2.131.200\xa0€" in body
    # Madrid's date, not the server's: at 23:30 UTC it is already tomorrow in Madrid.
    in_madrid = timezone.localtime(logistics, ZoneInfo("Europe/Madrid")).strftime("%d/%m/%Y %H:%M")
    assert in_madrid.endswith(("23:34", "00:34"))
    assert in_madrid in body, "the experience logged at 22:34 UTC reads in Madrid's time"
    findings += serious_violations(page)

    # The heat map is wider than the phone: reach it with Tab, scroll to Remembrance with the arrows.
    heat_map = page.locator(".dash-scroll:has(.dash-heat)")
    for _ in range(80):
        page.keyboard.press("Tab")
        if heat_map.evaluate("box => box === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the heat map")
    assert heat_map.get_attribute("aria-label") == "Punto de contacto × etapa"
    remembrance = heat_map.locator("th", has_text="Recuerdo")
    fully_shown = "([box, th]) => th.getBoundingClientRect().right <= box.getBoundingClientRect().right + 1"
    assert not page.evaluate(fully_shown, [heat_map.element_handle(), remembrance.element_handle()])
    for _ in range(30):
        page.keyboard.press("ArrowRight")
        if page.evaluate(fully_shown, [heat_map.element_handle(), remembrance.element_handle()]):
            break
    assert page.evaluate(fully_shown, [heat_map.element_handle(), remembrance.element_handle()])
    assert heat_map.evaluate("box => box.scrollLeft") > 0

    context.close()
    assert not errors, errors
    assert not findings, "\n".join(findings)
