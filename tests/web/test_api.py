"""The JSON API against a real database (SQLite file; PostgreSQL when configured)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.signin import signed_in


def onboard(client: TestClient, **overrides: Any) -> dict[str, Any]:
    body = {"name": "Ada", "language": "en", "level": "A2", "interests": ["football"]}
    body.update(overrides)
    response = client.post("/api/learners", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def answer(
    client: TestClient, learner_id: str, item_id: str, text: str, key: str | None = None
) -> Any:
    return client.post(
        f"/api/learners/{learner_id}/attempts",
        json={"item_id": item_id, "answer": text, "idempotency_key": key or str(uuid.uuid4())},
    )


def test_health(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_openapi_is_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/learners/{learner_id}/attempts" in schema["paths"]
    assert client.get("/docs").status_code == 200


def test_onboard_and_read_back(client: TestClient) -> None:
    learner = onboard(
        client, name="  Ада  ", language="ru", level="B1", interests=["music", "food"]
    )
    assert learner["name"] == "Ада"
    assert learner["interests"] == ["food", "music"]
    assert client.get(f"/api/learners/{learner['id']}").json() == learner


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"language": "fr"}, "unknown language"),
        ({"level": "Z9"}, "unknown level"),
        ({"interests": ["knitting"]}, "unknown topics: knitting"),
        ({"name": "\u0000\u0001"}, "name"),
    ],
)
def test_onboard_rejects_bad_input_with_a_reason(
    client: TestClient, body: dict[str, Any], reason: str
) -> None:
    payload = {"name": "Ada", "language": "en", "level": "A2", "interests": [], **body}
    response = client.post("/api/learners", json=payload)
    assert response.status_code == 422
    assert reason in response.text


def test_unknown_ids_are_404_with_a_reason(client: TestClient) -> None:
    missing = client.get("/api/learners/nope/next")
    assert missing.status_code == 404
    assert "no learner with id 'nope'" in missing.json()["detail"]
    learner = onboard(client)
    response = answer(client, learner["id"], "en-0000000000000000", "x")
    assert response.status_code == 404
    assert "no item" in response.json()["detail"]
    assert client.get("/api/learners/nope/progress").status_code == 404


def test_next_exercise_hides_the_answer_and_gives_reasons(client: TestClient) -> None:
    learner = onboard(client)
    exercise = client.get(f"/api/learners/{learner['id']}/next").json()
    assert "answers" not in exercise and "accepted" not in exercise
    factors = [r["factor"] for r in exercise["reasons"]]
    assert "need" in factors and exercise["policy"] == "hybrid"
    contributions = [r["contribution"] for r in exercise["reasons"]]
    assert contributions == sorted(contributions, reverse=True) and contributions[0] > 0
    assert exercise["language"] == "en"
    if exercise["type"] in ("cloze", "choice"):
        assert exercise["text"].count("___") == 1


@pytest.mark.parametrize(
    "bad", ["", "x" * 1500, "\u0000\u0007\u001b[31m", "<script>alert(1)</script>", "😀" * 50]
)
def test_malformed_answers_are_graded_wrong_not_500(client: TestClient, bad: str) -> None:
    learner = onboard(client)
    exercise = client.get(f"/api/learners/{learner['id']}/next").json()
    response = answer(client, learner["id"], exercise["item_id"], bad)
    assert response.status_code == 200, response.text
    assert response.json()["correct"] is False
    assert "\u0000" not in response.json()["answer"]


def test_oversized_answers_are_422(client: TestClient) -> None:
    learner = onboard(client)
    exercise = client.get(f"/api/learners/{learner['id']}/next").json()
    response = answer(client, learner["id"], exercise["item_id"], "x" * 10_240)
    assert response.status_code == 422
    assert "answer" in response.text
    assert len(response.text) < 2000, "the error must not echo 10 kB back"
    attempts = client.get(f"/api/learners/{learner['id']}/attempts").json()
    assert attempts == []


def test_the_same_idempotency_key_stores_one_attempt(client: TestClient) -> None:
    learner = onboard(client)
    exercise = client.get(f"/api/learners/{learner['id']}/next").json()
    first = answer(client, learner["id"], exercise["item_id"], "whatever", key="k-1").json()
    again = answer(client, learner["id"], exercise["item_id"], "whatever", key="k-1").json()
    assert first["duplicate"] is False and again["duplicate"] is True
    assert again["attempt_id"] == first["attempt_id"]
    assert again["mastery"] == first["mastery"], "a replay must not update mastery again"
    assert len(client.get(f"/api/learners/{learner['id']}/attempts").json()) == 1
    other_item = client.get(f"/api/learners/{learner['id']}/next").json()["item_id"]
    conflict = answer(client, learner["id"], other_item, "x", key="k-1")
    assert conflict.status_code == 409
    assert "idempotency key" in conflict.json()["detail"]


def test_an_item_of_another_language_is_refused(client: TestClient) -> None:
    english = onboard(client)
    other = signed_in(client.app)  # one learner profile per account
    russian = onboard(other, language="ru")
    ru_item = other.get(f"/api/learners/{russian['id']}/next").json()["item_id"]
    response = answer(client, english["id"], ru_item, "x")
    assert response.status_code == 422
    assert "language" in response.json()["detail"]


def test_feedback_carries_the_answer_and_the_rule(client: TestClient) -> None:
    learner = onboard(client)
    exercise = client.get(f"/api/learners/{learner['id']}/next").json()
    feedback = answer(client, learner["id"], exercise["item_id"], "definitely wrong").json()
    assert feedback["correct"] is False
    assert feedback["expected"] in feedback["accepted"]
    assert feedback["rule"] and feedback["skill_name"] == exercise["skill_name"]
    right = answer(client, learner["id"], exercise["item_id"], feedback["expected"]).json()
    assert right["correct"] is True


def test_skills_and_topics_are_listed(client: TestClient) -> None:
    skills = client.get("/api/skills", params={"language": "ru"}).json()
    assert len(skills) >= 20
    assert all(s["id"].startswith("ru.") for s in skills)
    assert client.get("/api/skills", params={"language": "xx"}).status_code == 422
    topics = client.get("/api/topics", params={"language": "ru"}).json()
    assert {"id": "football", "name": "Футбол"} in topics
