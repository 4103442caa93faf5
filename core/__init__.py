"""The shared kernel: errors, pagination, exports, base templates and UI tags. Imports no app."""
