"""JSON-lines logs (one object per line: time, level, logger, message, request_id, user_id and any
`extra`), or plain text for development: `CUSTODY_LOG_FORMAT=text`."""

import json
import logging
from datetime import UTC, datetime

from . import requestid

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "user_id"}


class RequestContextFilter(logging.Filter):
    """Stamp every record with the current request id and user id (empty outside a request)."""

    def filter(self, record):
        record.request_id = getattr(record, "request_id", None) or requestid.current()
        record.user_id = getattr(record, "user_id", None) or requestid.current_user()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
            "user_id": getattr(record, "user_id", ""),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
