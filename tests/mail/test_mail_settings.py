"""The ``[email]`` settings: validated at the edge, each wrong key named."""

from __future__ import annotations

import pytest

from fedi.config import ConfigError
from fedi.mail.settings import mail_settings
from fedi.mail.transport import build_message


def test_no_section_or_no_host_means_no_sending() -> None:
    assert mail_settings({}) is None
    assert mail_settings({"email": {"host": ""}}) is None


def test_defaults_follow_the_security() -> None:
    tls = mail_settings({"email": {"host": "smtp.example.org", "security": "tls",
                                   "from": "hub@example.org"}})
    assert tls is not None and tls.port == 465
    plain = mail_settings({"email": {"host": "smtp.example.org", "from": "hub@example.org",
                                     "port": "2525"}})
    assert plain is not None and (plain.security, plain.port) == ("starttls", 2525)


@pytest.mark.parametrize(("values", "key"), [
    ({"security": "ssl"}, "email.security"),
    ({"port": "many"}, "email.port"),
    ({"port": 70000}, "email.port"),
    ({"from": ""}, "email.from"),
    ({"user": "me"}, "email.password"),
    ({"retry_base": -1}, "email.retry_base"),
])
def test_bad_values_name_their_key(values: dict[str, object], key: str) -> None:
    section = {"host": "smtp.example.org", "from": "hub@example.org", **values}
    with pytest.raises(ConfigError) as caught:
        mail_settings({"email": section})
    assert caught.value.key == key


def test_messages_carry_text_html_and_language() -> None:
    message = build_message("hub@example.org", "a@example.org", "Sujet", "texte", "<p>x</p>",
                            "fr")
    assert message["Content-Language"] == "fr" and message.is_multipart()
    assert message.get_body(("plain",)).get_content().strip() == "texte"
