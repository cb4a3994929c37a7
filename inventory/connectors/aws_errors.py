"""Turn botocore failures into the connector errors analysts read.

Messages say what the connector was doing and what AWS answered. AWS error texts name
principals, actions and resources, never secrets.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from inventory.connectors.base import AccessDenied, BadConfig, ConnectorError, Unreachable

DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
          "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
          "ExpiredTokenException", "UnrecognizedClientException", "InvalidAccessKeyId"}


@contextmanager
def translated(doing: str) -> Iterator[None]:
    """Turn botocore failures into the connector errors analysts see, saying what the
    connector was doing. Error texts from AWS name principals and actions, never secrets."""
    from botocore import exceptions as bx

    try:
        yield
    except (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError,
            bx.ConnectionClosedError) as exc:
        raise Unreachable(f"Cannot reach AWS while {doing}: {exc}. Check endpoint_url, "
                          "network and proxy settings.") from exc
    except (bx.NoCredentialsError, bx.PartialCredentialsError) as exc:
        raise AccessDenied(f"No usable AWS credentials while {doing}: {exc}. Set "
                           "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a "
                           "workload identity.") from exc
    except bx.ProfileNotFound as exc:
        raise BadConfig(f"AWS profile problem while {doing}: {exc}") from exc
    except bx.ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "?"), error.get("Message", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        text = f"AWS refused {exc.operation_name} while {doing}: {code}: {message}"
        raise (AccessDenied if code in DENIED or status == 403 else ConnectorError)(text) \
            from exc
    except bx.BotoCoreError as exc:
        raise ConnectorError(f"AWS call failed while {doing}: {exc}") from exc


@contextmanager
def record_guard(what: str, data: dict, account_id: str) -> Iterator[None]:
    """A record AWS sent without the fields it always sends fails the run, naming it:
    losing an identity silently would later mark it missing."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        name = data.get("Arn") or data.get("UserName") or data.get("RoleName") or \
            data.get("ServerCertificateName") or "?"
        raise ConnectorError(f"Unusable {what} {name!r} in account {account_id}: "
                             f"{type(exc).__name__}: {exc}") from exc


def is_code(exc: Exception, *codes: str) -> bool:
    """Whether `exc` is an AWS error answer with one of these codes."""
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in codes
