"""Response headers that every page carries."""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def _img_sources() -> str:
    # Presigned S3 URLs point at the storage endpoint, so images may come from there.
    sources = ["'self'", "data:", "blob:"]
    # Browsers follow presigned links to the public address when there is one.
    endpoint = settings.ANNOTATOR_S3.get("public_endpoint_url") or settings.ANNOTATOR_S3.get("endpoint_url")
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
                # WebAssembly compilation only (the run page's TF.js WASM backend); eval stays forbidden.
                "script-src 'self' 'wasm-unsafe-eval'",
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
        policy = self.policy
        origins = [origin] if (origin := _project_storage_origin(request, response)) else []
        # A page showing several projects' images names their buckets itself (the home page's cards).
        origins += getattr(response, "img_origins", [])
        if origins:
            policy = policy.replace("img-src ", f"img-src {' '.join(dict.fromkeys(origins))} ", 1)
        # The API docs page loads its renderer from the app's own static files.
        response.headers.setdefault("Content-Security-Policy", policy)
        return response


def _project_storage_origin(request: HttpRequest, response: HttpResponse) -> str | None:
    """A project page's images come by presigned URL from the project's own bucket, when it has one.

    Only pages the view served (200), so nobody learns another project's endpoint from a 404.
    """
    match = getattr(request, "resolver_match", None)
    if response.status_code != 200 or not match or "project_id" not in match.kwargs:
        return None
    if not response.get("Content-Type", "").startswith("text/html"):
        return None
    from annotator.models import BucketConnection

    found = (
        BucketConnection.objects.filter(project_id=match.kwargs["project_id"])
        .values_list("endpoint_url", "addressing_style")
        .first()
    )
    if not found:
        return None
    return " ".join(bucket_origins(*found))


def bucket_origins(endpoint_url: str, addressing_style: str) -> list[str]:
    """The origins a bucket's presigned links point at."""
    parts = urlsplit(endpoint_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    # Virtual-host addressing puts the bucket in the host name: bucket.s3.example.com.
    return [origin] if addressing_style == "path" else [origin, f"{parts.scheme}://*.{parts.netloc}"]
