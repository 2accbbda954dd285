"""The e-mail channel: subscribers with double opt-in, the newsletter sender, the robot's mails.

``addresses`` (strict address checking), ``subscribers`` (the SQLite list and delivery
journal), ``settings`` (a channel's options), ``compose`` (MIME, DKIM), ``smtp`` (the one
SMTP session), ``sender`` (:class:`EmailSender`, the ``email`` channel kind). Imported on use.
"""

__all__ = ["addresses", "compose", "sender", "settings", "smtp", "subscribers", "words"]
