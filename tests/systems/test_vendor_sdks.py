"""The vendors' Python SDKs, unmodified, against the Xero, QuickBooks and Pipedrive fakes.

python-quickbooks (with intuit-oauth) and pipedrive-python-lib speak through
``requests``; xero-python is generated on urllib3, which the harness intercepts
at its connection pool: its basic flow (token refresh on the identity host,
``GET /connections`` for the tenant, contacts, invoices with an idempotency key,
a ``where`` filter) runs unmodified against the fake.
"""

from __future__ import annotations

import datetime
import json

import pytest

from harness.systems import Pipedrive, QuickBooks, World, Xero, standard_world


def _connection_layer() -> tuple[object, ...]:
    """The functions an interceptor of urllib3 (or of sockets under it) must replace."""
    import http.client
    import socket

    import urllib3.connection
    import urllib3.connectionpool

    return (socket.create_connection, socket.socket.connect, http.client.HTTPConnection.connect,
            urllib3.connection.HTTPConnection.connect, urllib3.connectionpool.HTTPConnectionPool.urlopen)


@pytest.fixture
def world() -> World:
    return standard_world(9, deals=3)


def test_python_quickbooks_customer_invoice_query_and_request_id(world: World) -> None:
    from intuitlib.client import AuthClient
    from quickbooks import QuickBooks as QuickBooksClient
    from quickbooks.exceptions import QuickbooksException
    from quickbooks.objects.base import Ref
    from quickbooks.objects.customer import Customer
    from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
    from quickbooks.objects.invoice import Invoice

    fake: QuickBooks = world.system("quickbooks")
    with world.activate():
        auth = AuthClient(client_id="client-id", client_secret="client-secret",
                          redirect_uri="https://localhost/callback", environment="production")
        client = QuickBooksClient(auth_client=auth, refresh_token="refresh-token",
                                  company_id=fake.realm_id, minorversion=75)
        customer = Customer()
        customer.DisplayName = "Harness Widgets Ltd"
        customer.CompanyName = "Harness Widgets Ltd"
        saved = customer.save(qb=client)
        assert customer.Id == saved.Id and saved.SyncToken == "0"
        found = Customer.filter(DisplayName="Harness Widgets Ltd", qb=client)
        assert [c.Id for c in found] == [customer.Id]

        line = SalesItemLine()
        line.Amount = 1500
        line.Description = "Platform licence"
        line.SalesItemLineDetail = SalesItemLineDetail()
        line.SalesItemLineDetail.ItemRef = Ref()
        line.SalesItemLineDetail.ItemRef.value = "1"
        invoice = Invoice()
        invoice.CustomerRef = customer.to_ref()
        invoice.DocNumber = "HS-512"
        invoice.Line = [line]
        made = invoice.save(qb=client, request_id="deal-512-invoice")
        again = Invoice()
        again.CustomerRef = customer.to_ref()
        again.DocNumber = "HS-512"
        again.Line = [line]
        again.save(qb=client, request_id="deal-512-invoice")  # a retry: answered, not repeated
        assert again.Id == invoice.Id and made.TotalAmt == 1500
        assert [i.Id for i in Invoice.query("select * from Invoice where DocNumber = 'HS-512'", qb=client)] == [invoice.Id]
        fetched = Invoice.get(invoice.Id, qb=client)
        fetched.PrivateNote = "paid by wire"
        assert fetched.save(qb=client).SyncToken == "1"
        duplicate = Invoice()
        duplicate.CustomerRef = customer.to_ref()
        duplicate.DocNumber = "HS-512"
        duplicate.Line = [line]
        with pytest.raises(QuickbooksException) as exc:
            duplicate.save(qb=client)
        assert "6140" in str(exc.value.error_code) or "Duplicate" in str(exc.value)
    assert fake.replays == 1
    assert len(fake.invoices_for(customer.Id)) == 1


def test_pipedrive_python_lib_deals_persons_activities_search(world: World) -> None:
    from pipedrive.client import Client
    from pipedrive.exceptions import NotFoundError

    fake: Pipedrive = world.system("pipedrive")
    with world.activate():
        client = Client(domain="https://acme.pipedrive.com/api/")
        client.set_api_token("pd-0123456789abcdef")
        deals = client.deals.get_all_deals(params={"limit": 2})
        assert deals["success"] and len(deals["data"]) == 2
        assert deals["additional_data"]["pagination"]["more_items_in_collection"] is True
        deal = client.deals.get_deal(deals["data"][0]["id"])["data"]
        person = client.persons.search_persons(params={"term": deal["person_id"]["email"][0]["value"],
                                                       "fields": "email"})
        assert person["data"]["items"][0]["item"]["id"] == deal["person_id"]["value"]
        made = client.activities.create_activity({"subject": "Onboarding call", "type": "call",
                                                  "deal_id": deal["id"]})
        assert made["data"]["deal_id"] == deal["id"]
        won = client.deals.update_deal(deal["id"], {"status": "won"})
        assert won["data"]["status"] == "won"
        with pytest.raises(NotFoundError):
            client.deals.get_deal(999_999)
    assert [a["subject"] for a in fake.activities_for(deal["id"])] == ["Onboarding call"]


def test_xero_python_token_refresh_contact_and_invoice(world: World) -> None:
    from xero_python.accounting import AccountingApi, Contact, Contacts, Invoice, Invoices, LineItem
    from xero_python.api_client import ApiClient
    from xero_python.api_client.configuration import Configuration
    from xero_python.api_client.oauth2 import OAuth2Token
    from xero_python.exceptions import AccountingBadRequestException
    from xero_python.identity import IdentityApi

    fake: Xero = world.system("xero")
    store: dict[str, object] = {}
    before = _connection_layer()
    with world.activate():
        # without interception the SDK would resolve Xero's hosts: stop before any lookup
        if _connection_layer() == before:
            pytest.fail("urllib3 is not intercepted: xero-python would reach the network")
        api_client = ApiClient(
            Configuration(oauth2_token=OAuth2Token(client_id="client-id", client_secret="client-secret")),
            pool_threads=1,
        )

        @api_client.oauth2_token_getter
        def _get() -> object:
            return store.get("token")

        @api_client.oauth2_token_saver
        def _save(token: object) -> None:
            store["token"] = token

        api_client.set_oauth2_token({"access_token": "expired", "refresh_token": "consent-refresh-token",
                                     "expires_in": 1800, "token_type": "Bearer", "scope": "accounting.transactions"})
        api_client.refresh_oauth2_token()
        saved = store["token"]
        assert isinstance(saved, dict) and saved["refresh_token"] != "consent-refresh-token"  # rotated
        connections = IdentityApi(api_client).get_connections()
        assert [(c.tenant_type, c.tenant_name) for c in connections] == [("ORGANISATION", fake.tenant_name)]
        tenant = connections[0].tenant_id
        assert tenant == fake.tenant_id
        accounting = AccountingApi(api_client)
        contacts = accounting.update_or_create_contacts(
            tenant, Contacts(contacts=[Contact(name="Harness Widgets Ltd", email_address="ap@widgets.example")]))
        contact_id = contacts.contacts[0].contact_id
        invoice = Invoice(type="ACCREC", contact=Contact(contact_id=contact_id), status="AUTHORISED",
                          due_date=datetime.date(2026, 2, 1), reference="deal-512",
                          line_items=[LineItem(description="Licence", quantity=1, unit_amount=1500,
                                               account_code="200", tax_type="NONE")])
        made = accounting.create_invoices(tenant, Invoices(invoices=[invoice]), idempotency_key="deal-512")
        again = accounting.create_invoices(tenant, Invoices(invoices=[invoice]), idempotency_key="deal-512")
        assert made.invoices[0].invoice_id == again.invoices[0].invoice_id
        found = accounting.get_invoices(tenant, where='Reference=="deal-512"')
        assert [i.invoice_id for i in found.invoices] == [made.invoices[0].invoice_id]
        unbilled = Invoice(type="ACCREC", contact=Contact(contact_id=contact_id), status="AUTHORISED",
                           due_date=datetime.date(2026, 2, 1),
                           line_items=[LineItem(description="Licence", quantity=1, unit_amount=10,
                                                account_code="999")])
        with pytest.raises(AccountingBadRequestException) as refused:
            accounting.create_invoices(tenant, Invoices(invoices=[unbilled]))
        problem = json.loads(refused.value.body)
        assert problem["Type"] == "ValidationException"
        assert problem["Elements"][0]["ValidationErrors"][0]["Message"].startswith("Account code '999'")
    assert fake.replays == 1
