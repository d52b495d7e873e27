"""A learner onboards and answers 20 exercises through the API; nothing is lost or doubled."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from hyperlearn.content.bank import Bank


def progress_by_skill(client: TestClient, learner_id: str) -> dict[str, dict[str, Any]]:
    rows = client.get(f"/api/learners/{learner_id}/progress").json()
    return {row["skill_id"]: row for row in rows}


def test_twenty_exercises_move_mastery_the_right_way(client: TestClient, bank: Bank) -> None:
    keys = {item.id: item.answers[0] for item in bank.all_items()}
    learner = client.post(
        "/api/learners",
        json={"name": "E2E", "language": "en", "level": "A2", "interests": ["travel"]},
    ).json()
    learner_id = learner["id"]
    sent: list[str] = []
    seen_items: set[str] = set()
    for n in range(20):
        exercise = client.get(f"/api/learners/{learner_id}/next").json()
        seen_items.add(exercise["item_id"])
        skill_id = exercise["skill_id"]
        before = progress_by_skill(client, learner_id)[skill_id]
        right_turn = n % 3 != 2  # two right, one wrong
        text = keys[exercise["item_id"]] if right_turn else "I really do not know"
        key = str(uuid.uuid4())
        body = {"item_id": exercise["item_id"], "answer": text, "idempotency_key": key}
        response = client.post(f"/api/learners/{learner_id}/attempts", json=body)
        assert response.status_code == 200, response.text
        feedback = response.json()
        sent.append(key)
        assert feedback["correct"] is right_turn
        # A double click or a retry after a lost response: the same key stores nothing new.
        retry = client.post(f"/api/learners/{learner_id}/attempts", json=body).json()
        assert retry["duplicate"] is True and retry["attempt_id"] == feedback["attempt_id"]

        after = progress_by_skill(client, learner_id)[skill_id]
        assert after["attempts"] == before["attempts"] + 1
        assert after["correct"] == before["correct"] + int(right_turn)
        if right_turn:
            assert after["mastery"] > before["mastery"]
        else:
            assert after["mastery"] < before["mastery"]

    attempts = client.get(f"/api/learners/{learner_id}/attempts").json()
    assert [a["idempotency_key"] for a in attempts] == sent
    assert sum(a["correct"] for a in attempts) == 14
    assert len(seen_items) == 20, "no item repeated within a short session"
