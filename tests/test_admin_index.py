"""The admin is CXM's own: branded, and every model listed once."""

import re


def test_admin_lists_api_keys_once(admin_client):
    body = admin_client.get("/admin/").content.decode()
    assert re.findall(r'<a href="([^"]*)"[^>]*>API keys</a>', body) == ["/admin/integrations/apikey/"]


def test_admin_is_branded_as_cxm(admin_client):
    body = admin_client.get("/admin/").content.decode()
    assert "<title>Catalogue, customers, surveys and integrations | CXM admin</title>" in body
    assert "CXM administration" in body
    assert "Django administration" not in body and "Django site admin" not in body
