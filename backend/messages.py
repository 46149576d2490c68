"""Texts of the e-mails and SMS the service sends, in the bot's four languages (uk, pl, en, ru)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def verification_code(code: str, minutes: int) -> Message:
    return Message(
        subject="Код підтвердження / Kod weryfikacyjny / Verification code",
        body=(
            f"Ваш код підтвердження: {code}. Він дійсний {minutes} хвилин.\n"
            f"Twój kod weryfikacyjny: {code}. Jest ważny przez {minutes} minut.\n"
            f"Your verification code: {code}. It is valid for {minutes} minutes.\n"
            f"Ваш код подтверждения: {code}. Он действителен {minutes} минут.\n"
            "\n"
            "Якщо ви не просили код, проігноруйте це повідомлення. / "
            "Jeśli nie prosiłeś o kod, zignoruj tę wiadomość. / "
            "If you did not ask for a code, ignore this message. / "
            "Если вы не запрашивали код, проигнорируйте это сообщение."
        ),
    )


def username_reminder(usernames: list[str]) -> Message:
    names = ", ".join(usernames)
    return Message(
        subject="Ваше ім'я користувача / Twoja nazwa użytkownika / Your username",
        body=(
            f"Ім'я користувача: {names}\n"
            f"Nazwa użytkownika: {names}\n"
            f"Username: {names}\n"
            f"Имя пользователя: {names}\n"
            "\n"
            "Якщо ви про це не просили, проігноруйте це повідомлення. / "
            "Jeśli nie prosiłeś o przypomnienie, zignoruj tę wiadomość. / "
            "If you did not ask for this reminder, ignore this message. / "
            "Если вы об этом не просили, проигнорируйте это сообщение."
        ),
    )


def password_reset(username: str) -> Message:
    return Message(
        subject="Зміна пароля / Zmiana hasła / Password reset",
        body=(
            f"Отримано запит на зміну пароля для облікового запису «{username}».\n"
            f"Otrzymaliśmy prośbę o zmianę hasła do konta „{username}”.\n"
            f"We received a request to reset the password of the account '{username}'.\n"
            f"Получен запрос на смену пароля для учётной записи «{username}».\n"
            "\n"
            "Якщо це були не ви, проігноруйте це повідомлення: пароль не змінено. / "
            "Jeśli to nie Ty, zignoruj tę wiadomość: hasło nie zostało zmienione. / "
            "If it was not you, ignore this message: the password has not been changed. / "
            "Если это были не вы, проигнорируйте это сообщение: пароль не изменён."
        ),
    )
