"""`/docs` works without internet: the page references only this server's own assets, which
are served (from the package), and no outside validator."""

from __future__ import annotations

import re
import warnings

from sqlalchemy import Engine

from api.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""")


def test_docs_use_only_local_assets(engine: Engine) -> None:
    with TestClient(create_app()) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        references = [a or b for a, b in ASSET.findall(page.text)]
        assert references, page.text
        for reference in references:
            assert reference.startswith("/"), f"/docs loads {reference} from elsewhere"
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        assert '"validatorUrl": null' in page.text
        sizes = {}
        for reference in references:
            asset = client.get(reference)
            assert asset.status_code == 200, reference
            sizes[reference] = len(asset.content)
        assert sizes["/static/swagger-ui/swagger-ui-bundle.js"] > 1_000_000
        assert sizes["/openapi.json"] > 1_000
        assert client.get("/redoc").status_code == 404  # it would load from a CDN
