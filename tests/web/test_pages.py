"""Server-rendered pages through the ASGI app: the form flow, escaping and error pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def start(client: TestClient, name: str = "Lena", language: str = "en") -> None:
    """Onboard the signed-in account: its learner profile is made."""
    response = client.post(
        "/onboard",
        data={"name": name, "language": language, "level": "A1", "interests": ["music"]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/placement"  # the placement test is offered


def test_practice_without_a_learner_goes_to_onboarding(client: TestClient) -> None:
    response = client.get("/practice", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert 'name="interests" value="football"' in home.text


def test_answering_in_the_browser_flow(client: TestClient) -> None:
    start(client)
    page = client.get("/practice")
    assert page.status_code == 200
    item_id = re.search(r'name="item_id" value="([^"]+)"', page.text)
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert item_id and key
    form = {"item_id": item_id.group(1), "key": key.group(1), "answer": "zzz"}
    feedback = client.post("/practice", data=form)
    assert feedback.status_code == 200
    assert "Not quite." in feedback.text
    assert 'id="next"' in feedback.text
    # Reloading the feedback page re-posts the same key: still one attempt.
    again = client.post("/practice", data=form)
    assert again.status_code == 200
    progress = client.get("/progress")
    assert "1 exercise answered, 0 right." in progress.text


def test_learner_text_is_escaped(client: TestClient) -> None:
    start(client, name="<script>alert(1)</script>")
    page = client.get("/practice")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_bad_form_input_gets_a_readable_page(client: TestClient) -> None:
    response = client.post("/onboard", data={"name": "X", "language": "xx", "level": "A1"})
    assert response.status_code == 422
    assert "unknown language" in response.text
    assert "<html" in response.text
