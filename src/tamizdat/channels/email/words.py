"""The newsletter's and the robot's own words, in the languages readers write to us in.

Kept here rather than in the site's gettext catalogs because the robot must also *read*
these languages (:data:`COMMANDS`), and both sides must change together. A language
without an entry gets English. Templates receive the entry as ``t``.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["COMMANDS", "LANGUAGES", "words_for"]

_EN: Mapping[str, str] = {
    "minutes": "{n} min read",
    "read_on": "Read on a working mirror:",
    "dont_miss": "Don't miss",
    "correction": "Correction",
    "digest": "Digest",
    "more": "and {n} more",
    "fingerprint": "Publisher fingerprint (compare it before trusting a copy):",
    "why_mirrors": "Our main site may be blocked where you are; these copies are signed by us.",
    "unsubscribe": 'To unsubscribe, send "unsubscribe" to {robot}.',
    "unsubscribe_mailto_only": 'To unsubscribe, reply with "unsubscribe".',
    "attachment": "Attached: the signed update ({name}); 'tamizdat verify' checks it offline.",
    "confirm_subject": "Confirm your subscription to {site}",
    "confirm_body": (
        "Someone (hopefully you) asked to receive {site} by e-mail in English.\n\n"
        "To confirm, reply to this message keeping the subject, or send\n"
        "  confirm {token}\nto {robot}.\n\nIf it was not you, ignore this message: "
        "nothing will be sent unless you confirm."
    ),
    "confirmed": "You are subscribed to {site}. Every message carries an unsubscribe address.",
    "unsubscribed": "You are unsubscribed from {site}. We keep no copy of your address.",
    "not_subscribed": "This address is not subscribed to {site}.",
    "bad_code": 'This confirmation code is unknown or has expired. Send "subscribe" again.',
    "help": (
        "Write one word in the subject or the first line:\n"
        "  mirrors      — a few addresses of our site that work today\n"
        "  subscribe    — receive our newsletter (in English; 'подписаться' for Russian)\n"
        "  unsubscribe  — stop receiving it"
    ),
    "reply_subject": "Re: your request to {site}",
    "mirrors_intro": "Addresses of our site that work today:",
    "no_mirrors": "We have no working address to give right now. Please ask again later.",
    "how_to_check": (
        "A copy is genuine only if it is signed by the key with this fingerprint. Compare it\n"
        "with the one on our channels or printed material, then run\n"
        "  tamizdat verify URL --fingerprint {fingerprint}\n"
        "or open the copy's verify page and compare the fingerprint it shows."
    ),
}

_RU: Mapping[str, str] = {
    "minutes": "{n} мин чтения",
    "read_on": "Читать на работающем зеркале:",
    "dont_miss": "Не пропустите",
    "correction": "Исправление",
    "digest": "Дайджест",
    "more": "и ещё {n}",
    "fingerprint": "Отпечаток ключа издателя (сверьте его, прежде чем доверять копии):",
    "why_mirrors": "Наш основной сайт может быть заблокирован; эти копии подписаны нами.",
    "unsubscribe": "Чтобы отписаться, отправьте «отписаться» на {robot}.",
    "unsubscribe_mailto_only": "Чтобы отписаться, ответьте словом «отписаться».",
    "attachment": "Во вложении подписанное обновление ({name}); 'tamizdat verify' проверит его "
    "без сети.",
    "confirm_subject": "Подтвердите подписку на {site}",
    "confirm_body": (
        "Кто-то (надеемся, вы) попросил присылать {site} по почте на русском.\n\n"
        "Чтобы подтвердить, ответьте на это письмо, не меняя тему, или отправьте\n"
        "  confirm {token}\nна {robot}.\n\nЕсли это были не вы, ничего не делайте: "
        "без подтверждения мы ничего не пришлём."
    ),
    "confirmed": "Вы подписаны на {site}. В каждом письме есть адрес для отписки.",
    "unsubscribed": "Вы отписаны от {site}. Мы не храним ваш адрес.",
    "not_subscribed": "Этот адрес не подписан на {site}.",
    "bad_code": "Код подтверждения неизвестен или устарел. Отправьте «подписаться» ещё раз.",
    "help": (
        "Напишите одно слово в теме или первой строке письма:\n"
        "  зеркала      — несколько адресов нашего сайта, которые работают сегодня\n"
        "  подписаться  — получать рассылку (на русском; 'subscribe' — на английском)\n"
        "  отписаться   — больше не получать её"
    ),
    "reply_subject": "Re: ваш запрос к {site}",
    "mirrors_intro": "Адреса нашего сайта, которые работают сегодня:",
    "no_mirrors": "Сейчас у нас нет работающего адреса. Пожалуйста, спросите позже.",
    "how_to_check": (
        "Копия подлинная, только если она подписана ключом с этим отпечатком. Сверьте его\n"
        "с опубликованным в наших каналах или на бумаге, затем выполните\n"
        "  tamizdat verify URL --fingerprint {fingerprint}\n"
        "или откройте страницу проверки копии и сравните показанный отпечаток."
    ),
}

_WORDS: Mapping[str, Mapping[str, str]] = {"en": _EN, "ru": _RU}
LANGUAGES = tuple(_WORDS)

# Request words the robot understands → (command, the language the word is in).
COMMANDS: Mapping[str, tuple[str, str]] = {
    "mirrors": ("mirrors", "en"),
    "mirror": ("mirrors", "en"),
    "subscribe": ("subscribe", "en"),
    "unsubscribe": ("unsubscribe", "en"),
    "confirm": ("confirm", "en"),
    "help": ("help", "en"),
    "зеркала": ("mirrors", "ru"),
    "зеркало": ("mirrors", "ru"),
    "адреса": ("mirrors", "ru"),
    "подписаться": ("subscribe", "ru"),
    "подписка": ("subscribe", "ru"),
    "отписаться": ("unsubscribe", "ru"),
    "отписка": ("unsubscribe", "ru"),
    "подтвердить": ("confirm", "ru"),
    "подтвердите": ("confirm", "ru"),
    "помощь": ("help", "ru"),
}


def words_for(lang: str) -> Mapping[str, str]:
    """The strings for ``lang`` (``ru-RU`` → ``ru``), English when we have none."""
    return _WORDS.get(lang, _WORDS.get(lang.split("-")[0].lower(), _EN))
