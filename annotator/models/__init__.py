from annotator.models.image import Box, Image, ImageStatus
from annotator.models.project import Label, Membership, Project, ProjectType, Role

__all__ = ["Box", "Image", "ImageStatus", "Label", "Membership", "Project", "ProjectType", "Role"]
