"""Response headers that every page carries."""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def _img_sources() -> str:
    # Presigned S3 URLs point at the storage endpoint, so images may come from there.
    sources = ["'self'", "data:", "blob:"]
    endpoint = settings.ANNOTATOR_S3.get("endpoint_url")
    if endpoint:
        parts = urlsplit(endpoint)
        sources.append(f"{parts.scheme}://{parts.netloc}")
    elif settings.ANNOTATOR_STORAGE == "s3":
        sources.append("https://*.amazonaws.com")
    return " ".join(sources)


class ContentSecurityPolicyMiddleware:
    """Forbid inline scripts and foreign origins: label text can never run as code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = "; ".join(
            [
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self'",
                f"img-src {_img_sources()}",
                "connect-src 'self' ws: wss:",
                "object-src 'none'",
                "base-uri 'self'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            ]
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The API docs page loads its renderer from the app's own static files.
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
