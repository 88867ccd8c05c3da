"""The console's forms (WTForms through Flask-WTF: every one carries the session's CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no types
    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class NoteForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no types
    """Acknowledge or resolve a discrepancy; resolving needs a note."""

    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class ApplyForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no types
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])


class ActionForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no types
    """A button whose only field is the CSRF token (log out, re-queue)."""
