from annotator.models.activity import AnnotationEvent, ReviewDecision, ReviewEvent
from annotator.models.image import Box, Image, ImageStatus
from annotator.models.project import Label, Membership, Project, ProjectType, Role

__all__ = [
    "AnnotationEvent",
    "Box",
    "Image",
    "ImageStatus",
    "Label",
    "Membership",
    "Project",
    "ProjectType",
    "ReviewDecision",
    "ReviewEvent",
    "Role",
]
