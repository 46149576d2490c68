"""End-to-end fixtures: the real action server and Rasa server with the trained model."""

from collections.abc import Iterator

import httpx
import pytest

from devstack import LocalStack
from tests.support.responses import bot_responses
from tests.support.stack import stack_for_tests


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[LocalStack]:
    """The bot's services on free ports, with databases of their own."""
    with stack_for_tests(tmp_path_factory, only=("backend", "actions", "rasa")) as stack:
        yield stack


@pytest.fixture(scope="session")
def responses() -> dict:
    return bot_responses()


class Conversation:
    """One user talking to the bot over the REST channel."""

    def __init__(self, client: httpx.Client, sender: str, responses: dict, language: str | None = None):
        self.client, self.sender, self.responses, self.hint = client, sender, responses, language

    def say(self, text: str) -> list[dict]:
        metadata = {"language": self.hint} if self.hint else {}
        reply = self.client.post(
            "/webhooks/rest/webhook", json={"sender": self.sender, "message": text, "metadata": metadata}
        )
        reply.raise_for_status()
        return reply.json()

    def text_of(self, response: str, language: str) -> str:
        [variation] = [v for v in self.responses[response] if v["condition"][0]["value"] == language]
        return variation["text"]

    def expect(self, text: str, *response_names: str, language: str) -> list[dict]:
        """Send `text`; the bot must answer exactly with these responses, in `language`.

        The REST channel sends each paragraph of a text without buttons as a message of its own,
        so the texts are compared joined by paragraphs.
        """
        messages = self.say(text)
        said = "\n\n".join(m.get("text") or "" for m in messages)
        assert said == "\n\n".join(self.text_of(r, language) for r in response_names), text
        return [m for m in messages if m.get("buttons")] or messages


@pytest.fixture
def conversation(stack, responses, request) -> Iterator:
    with httpx.Client(base_url=stack.ports.rasa_url, timeout=30) as client:

        def start(language: str | None = None) -> Conversation:
            return Conversation(client, f"{request.node.name}-{language}", responses, language)

        yield start
