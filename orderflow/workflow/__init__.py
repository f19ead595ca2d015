"""The BPMN platform that knows no order: processes and their versions, drafts and forms,
instances and their runs, tasks, messages, incidents, jobs, signatures, customer links, the
monitor, the audit trail, attachments and notifications."""
