"""Tables, in three modules of one mapping: the staff (``people``), the workflow's (``workflow``) and
those of who gets in from outside the staff's log-in (``access``). Import them from here."""
from orderflow.core.column_types import Base, UtcDateTime  # the migrations name the type here
from orderflow.core.models.access import ApiToken, CustomerLink, LoginFailure
from orderflow.core.models.people import Group, Membership, User
from orderflow.core.models.workflow import (
    Attachment,
    AuditEvent,
    AuditHead,
    CorrelationKey,
    HumanTask,
    Incident,
    Instance,
    InstanceState,
    InstanceStateDelta,
    Job,
    Mail,
    Notification,
    ProcessDraft,
    ProcessVersion,
    SavedFilter,
    Sequence,
    Signature,
    TaskGroup,
    TaskStat,
)

__all__ = [
    "ApiToken", "Attachment", "AuditEvent", "AuditHead", "Base", "CorrelationKey", "CustomerLink", "Group",
    "HumanTask", "Incident", "Instance", "InstanceState", "InstanceStateDelta", "Job", "LoginFailure", "Mail",
    "Membership", "Notification",
    "ProcessDraft", "ProcessVersion", "SavedFilter", "Sequence", "Signature", "TaskGroup", "TaskStat", "User",
    "UtcDateTime",
]
