"""The Stripe adapter: customers and their saved payment methods.

A thin layer over the official ``stripe`` library (a ``StripeClient``
instance, never the module's global state). ``stripe`` is imported only when
a gateway is built, so nothing else in the app pays for it.

Every Stripe failure leaves here as a :class:`UserError` with one sentence
(bad key, network down, unknown customer or payment method, rate limit).
The API key is never part of a message, a ``detail`` or a log line, and the
original exception is not chained (``from None``).

Writes carry an idempotency key, and the client retries network failures,
409s and 5xx answers (``max_network_retries``) re-sending the same key, so a
retried write is applied at most once.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from commands.errors import UserError

if TYPE_CHECKING:
    import stripe

    from commands.config import Config

DEFAULT_API_BASE = "https://api.stripe.com"
#: retries of a failed request (network error, 409, 429 when Stripe asks, 5xx)
DEFAULT_MAX_NETWORK_RETRIES = 2
#: seconds per request before giving up (the library's own default is 80)
DEFAULT_TIMEOUT = 30.0

NO_KEY_MESSAGE = (
    "No Stripe API key is configured: set STRIPE_API_KEY, or put "
    'stripe_api_key = "sk_..." in the config file and chmod 600 it'
)


@dataclass(frozen=True)
class PaymentMethodInfo:
    """One saved payment method of a customer, as shown to the user."""

    id: str
    type: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    is_default: bool
    billing_name: str | None
    country: str | None
    created: datetime

    @property
    def expiry(self) -> str:
        """``MM/YYYY`` or an empty string when the method has no expiry."""
        if self.exp_month is None or self.exp_year is None:
            return ""
        return f"{self.exp_month:02d}/{self.exp_year}"


def gateway_from_config(config: Config) -> StripeGateway:
    """The gateway for the configured key and API base (``UserError`` if no key)."""
    api_key = config.secret("stripe_api_key")
    if not api_key or not str(api_key).strip():
        raise UserError(NO_KEY_MESSAGE)
    api_base = config.get("stripe_api_base") or DEFAULT_API_BASE
    return StripeGateway(str(api_key).strip(), api_base=str(api_base))


class StripeGateway:
    """Customers and payment methods on one Stripe account."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        max_network_retries: int = DEFAULT_MAX_NETWORK_RETRIES,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not api_key or any(ch.isspace() or not ch.isprintable() for ch in api_key):
            raise UserError(
                "The Stripe API key is empty or contains spaces or line breaks; copy it again"
            )
        import stripe

        self._api_key = api_key
        self.api_base = api_base.rstrip("/")
        self._client: stripe.StripeClient = stripe.StripeClient(
            api_key,
            base_addresses={"api": self.api_base},
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def __repr__(self) -> str:  # never shows the key
        return f"StripeGateway(api_base={self.api_base!r})"

    # customers

    def find_or_create_customer(self, email: str, name: str) -> str:
        """The id of the Stripe customer with this email, created if there is none.

        Stripe's email filter is exact and case-sensitive. With several
        customers sharing the email, the oldest is used.
        """
        email = email.strip()
        if not email:
            raise UserError("A customer needs an email address to be linked to Stripe")
        try:
            page = self._client.v1.customers.list(params={"email": email, "limit": 100})
            found = [c for c in page.data if not getattr(c, "deleted", False)]
            if found:
                return str(min(found, key=lambda c: (c.created, c.id)).id)
            digest = hashlib.sha256(f"{email}\0{name}".encode()).hexdigest()[:32]
            customer = self._client.v1.customers.create(
                params={"email": email, "name": name},
                options={"idempotency_key": f"openinvoice-customer-{digest}"},
            )
            return str(customer.id)
        except Exception as exc:
            self._raise_user_error(exc)

    def customer_exists(self, customer_id: str) -> bool:
        """Whether the Stripe customer is there (not missing, not deleted)."""
        try:
            self._default_payment_method_id(customer_id)
        except _NotFound:
            return False
        except Exception as exc:
            self._raise_user_error(exc, customer_id=customer_id)
        return True

    # payment methods

    def list_payment_methods(self, customer_id: str) -> list[PaymentMethodInfo]:
        """The customer's saved cards, the default flagged, oldest first."""
        try:
            default_id = self._default_payment_method_id(customer_id)
            page = self._client.v1.payment_methods.list(
                params={"customer": customer_id, "type": "card", "limit": 100}
            )
            methods = [_info(pm, default_id) for pm in page.auto_paging_iter()]
        except Exception as exc:
            self._raise_user_error(exc, customer_id=customer_id)
        return sorted(methods, key=lambda m: (m.created, m.id))

    def payment_method_details(self, customer_id: str, pm_id: str) -> PaymentMethodInfo:
        """One payment method, which must belong to the customer."""
        try:
            default_id = self._default_payment_method_id(customer_id)
            pm = self._owned_payment_method(customer_id, pm_id)
            return _info(pm, default_id)
        except Exception as exc:
            self._raise_user_error(exc, customer_id=customer_id, pm_id=pm_id)

    def set_default_payment_method(self, customer_id: str, pm_id: str) -> None:
        """Make ``pm_id`` the customer's ``invoice_settings.default_payment_method``."""
        try:
            self._default_payment_method_id(customer_id)
            self._owned_payment_method(customer_id, pm_id)
            self._client.v1.customers.update(
                customer_id,
                params={"invoice_settings": {"default_payment_method": pm_id}},
                options={"idempotency_key": _fresh_key("set-default")},
            )
        except Exception as exc:
            self._raise_user_error(exc, customer_id=customer_id, pm_id=pm_id)

    def detach_payment_method(self, customer_id: str, pm_id: str) -> None:
        """Detach ``pm_id`` from the customer; if it was the default, clear the default."""
        try:
            default_id = self._default_payment_method_id(customer_id)
            self._owned_payment_method(customer_id, pm_id)
            if default_id == pm_id:
                self._client.v1.customers.update(
                    customer_id,
                    params={"invoice_settings": {"default_payment_method": ""}},
                    options={"idempotency_key": _fresh_key("clear-default")},
                )
            self._client.v1.payment_methods.detach(
                pm_id, options={"idempotency_key": _fresh_key("detach")}
            )
        except Exception as exc:
            self._raise_user_error(exc, customer_id=customer_id, pm_id=pm_id)

    # helpers

    def _default_payment_method_id(self, customer_id: str) -> str | None:
        """Retrieve the customer (a ``_NotFound`` if absent or deleted) and its default."""
        if not customer_id:
            raise _NotFound("customer")
        import stripe

        try:
            customer = self._client.v1.customers.retrieve(customer_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise _NotFound("customer") from None
            raise
        if getattr(customer, "deleted", False):
            raise _NotFound("customer")
        settings = getattr(customer, "invoice_settings", None)
        default = _field(settings, "default_payment_method")
        if default is None or isinstance(default, str):
            return default or None
        return str(_field(default, "id"))

    def _owned_payment_method(self, customer_id: str, pm_id: str) -> Any:
        if not pm_id:
            raise _NotFound("payment_method")
        import stripe

        try:
            pm = self._client.v1.payment_methods.retrieve(pm_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise _NotFound("payment_method") from None
            raise
        owner = _field(pm, "customer")
        owner_id = owner if owner is None or isinstance(owner, str) else _field(owner, "id")
        if owner_id != customer_id:
            raise _NotFound("payment_method")
        return pm

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "[key]") if self._api_key else text

    def _raise_user_error(
        self, exc: Exception, *, customer_id: str | None = None, pm_id: str | None = None
    ) -> NoReturn:
        """Turn any failure into one sentence; never chain the original exception."""
        message, detail = _describe(exc, self.api_base, customer_id, pm_id)
        raise UserError(self._scrub(message), detail=self._scrub(detail)) from None


class _NotFound(Exception):
    """The customer or payment method is missing or belongs to someone else."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _fresh_key(action: str) -> str:
    """A new idempotency key per logical write (the client re-sends it on retries)."""
    return f"openinvoice-{action}-{uuid.uuid4().hex}"


def _field(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    try:
        return obj[name]
    except (KeyError, TypeError, AttributeError):
        return getattr(obj, name, None)


def _info(pm: Any, default_id: str | None) -> PaymentMethodInfo:
    card = _field(pm, "card")
    billing = _field(pm, "billing_details")
    address = _field(billing, "address")
    exp_month = _field(card, "exp_month")
    exp_year = _field(card, "exp_year")
    return PaymentMethodInfo(
        id=str(pm.id),
        type=str(_field(pm, "type") or ""),
        brand=_field(card, "brand"),
        last4=_field(card, "last4"),
        exp_month=int(exp_month) if exp_month is not None else None,
        exp_year=int(exp_year) if exp_year is not None else None,
        is_default=pm.id == default_id,
        billing_name=_field(billing, "name"),
        country=_field(card, "country") or _field(address, "country"),
        created=datetime.fromtimestamp(int(_field(pm, "created") or 0), tz=UTC),
    )


def _not_found_message(what: str, customer_id: str | None, pm_id: str | None) -> str:
    if what == "payment_method" and pm_id:
        return f"No payment method {pm_id} on this customer"
    return f"No Stripe customer {customer_id or '(none)'}: it may have been deleted in Stripe"


def _describe(
    exc: Exception, api_base: str, customer_id: str | None, pm_id: str | None
) -> tuple[str, str]:
    """``(sentence, technical detail)`` for a failure."""
    import stripe

    if isinstance(exc, _NotFound):
        return _not_found_message(exc.what, customer_id, pm_id), ""
    if not isinstance(exc, stripe.StripeError):
        raise exc
    status = exc.http_status
    code = exc.code or ""
    # no raw exception text here: a network error can quote request headers
    detail = f"{type(exc).__name__} (HTTP {status or '-'}, code {code or '-'}"
    detail += f", request {exc.request_id})" if exc.request_id else ")"
    if isinstance(exc, stripe.AuthenticationError):
        message = (
            "Stripe rejected the API key (check STRIPE_API_KEY or stripe_api_key "
            "in the config file)"
        )
    elif isinstance(exc, stripe.PermissionError):
        message = "The Stripe API key is not allowed to manage customers and payment methods"
    elif isinstance(exc, stripe.APIConnectionError):
        message = f"Stripe could not be reached at {api_base} — is the network up?"
    elif isinstance(exc, stripe.RateLimitError):
        message = "Stripe is limiting the request rate; wait a minute and try again"
    elif isinstance(exc, stripe.CardError):
        message = f"Stripe declined the card: {_sentence(exc.user_message)}"
    elif isinstance(exc, stripe.IdempotencyError):
        message = "Stripe saw a conflicting retry of this request; run the command again"
    elif isinstance(exc, stripe.InvalidRequestError):
        param = exc.param or ""
        if status == 404 or code == "resource_missing":
            # the lookups above name what is missing; a later 404 is the
            # payment method (detached meanwhile) or else the customer
            what = "customer" if param == "customer" or not pm_id else "payment_method"
            message = _not_found_message(what, customer_id, pm_id)
        else:
            message = f"Stripe refused the request: {_sentence(exc.user_message)}"
    else:
        message = f"Stripe failed to answer (HTTP {status or '-'}); try again later"
    return message, detail


def _sentence(text: str | None) -> str:
    text = " ".join(str(text or "no reason given").split())
    return text.rstrip(".")


__all__ = [
    "NO_KEY_MESSAGE",
    "PaymentMethodInfo",
    "StripeGateway",
    "gateway_from_config",
]
