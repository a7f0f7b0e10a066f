"""People who sign in. The e-mail address is the login name."""

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower

from accounts.services import password_changed
from accounts.sockets import recheck_sockets


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: object) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email__iexact=username or "")


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)
    display_name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    # The stub pins AbstractUser.objects to Django's username-based manager; ours is keyed by e-mail.
    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    # Set by set_unusable_password, which (unlike set_password) leaves Django's `_password` alone.
    _password_disabled = False
    _password: str | None  # AbstractBaseUser's (None until set_password), left out of its stub

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.name

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self._password_disabled = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saving a new password revokes what the old one gave out (accounts.services.password_changed).

        Every door that sets a password (profile, reset link, admin, `changepassword`) ends in here.
        `_password` is Django's own mark of a password set since the last save; a hash upgraded at
        login clears it first, so an upgrade is not mistaken for a change.

        Saving an inactive account closes its open websockets (accounts.sockets): Django refuses
        its sessions from then on, and a socket must not outlive them.
        """
        changed = self.pk is not None and (self._password is not None or self._password_disabled)
        super().save(*args, **kwargs)
        self._password_disabled = False
        if changed:
            password_changed(self.pk)
        elif not self.is_active:
            recheck_sockets(self.pk)

    @property
    def name(self) -> str:
        """What teammates see: the chosen display name, else the e-mail's local part."""
        return self.display_name or self.get_full_name() or self.email.split("@")[0]
