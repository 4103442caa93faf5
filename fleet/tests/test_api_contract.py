"""API contract: bodies and the documented error responses."""

import pytest

from conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("body", [b"[1, 2]", b"[]", b"7", b'"text"', b"null"])
def test_a_patch_whose_body_is_not_a_json_object_is_a_422(admin_user, vehicle, body):
    client = ApiClient(admin_user)
    response = client.client.patch(
        f"/api/v1/vehicles/{vehicle.id}", data=body, content_type="application/json", **client.headers
    )
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_every_operation_documents_its_errors_with_the_envelope(admin_user):
    schema = ApiClient(admin_user).get("/api/openapi.json").json()
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status in ("403", "404", "409", "422", "429"):
                content = operation["responses"][status]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path, status)
            # gunicorn answers an over-long request line itself, with an HTML page
            assert "text/html" in operation["responses"]["414"]["content"], (method, path)


def test_no_two_api_schemas_share_a_name():
    """OpenAPI components are keyed by class name: two different schemas called "Ref" made one
    document the other's fields (a `name` the response never had). Same name, same shape is fine."""
    from django.apps import apps
    from django.conf import settings
    from ninja import Schema

    import config.api  # noqa: F401  (imports every router)

    project = {
        app.name.split(".")[0]
        for app in apps.get_app_configs()
        if str(app.path).startswith(str(settings.BASE_DIR))
    } | {"config"}
    seen: dict[str, tuple[str, dict]] = {}
    clashes = []
    stack = list(Schema.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] not in project:
            continue
        where, shape = f"{cls.__module__}.{cls.__qualname__}", cls.model_json_schema()
        if cls.__name__ in seen and seen[cls.__name__][1] != shape:
            clashes.append((cls.__name__, seen[cls.__name__][0], where))
        seen.setdefault(cls.__name__, (where, shape))
    assert clashes == []
