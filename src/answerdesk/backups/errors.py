"""What a backup or a restore refuses, with a message an operator can act on."""

from __future__ import annotations

from answerdesk.kit.errors import AppError, Conflict


class BackupError(AppError):
    code = "backup_failed"


class ArchiveDamaged(BackupError):
    """The archive is truncated, corrupt, or not one of ours; nothing was restored."""

    code = "backup_archive_damaged"


class ArchiveIncompatible(BackupError):
    """A sound archive this instance cannot take: other database, newer format or schema."""

    code = "backup_archive_incompatible"


class InstanceNotEmpty(Conflict):
    code = "restore_target_not_empty"


class DumpToolMissing(BackupError):
    """pg_dump / pg_restore absent, or older than the server."""

    code = "backup_tool_missing"
