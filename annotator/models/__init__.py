from annotator.models.activity import AnnotationEvent, ReviewDecision, ReviewEvent
from annotator.models.bucket import AddressingStyle, BucketConnection, StrandedObject, SyncJob, UnreadableObject
from annotator.models.datasets import ExportJob, ImportJob
from annotator.models.image import Box, Image, ImageStatus
from annotator.models.jobs import Job, JobStatus
from annotator.models.project import Label, Membership, Project, ProjectType, Role
from annotator.models.tally import ImageTally

__all__ = [
    "AddressingStyle",
    "AnnotationEvent",
    "Box",
    "BucketConnection",
    "ExportJob",
    "Image",
    "ImageStatus",
    "ImageTally",
    "ImportJob",
    "Job",
    "JobStatus",
    "Label",
    "Membership",
    "Project",
    "ProjectType",
    "ReviewDecision",
    "ReviewEvent",
    "Role",
    "StrandedObject",
    "SyncJob",
    "UnreadableObject",
]
