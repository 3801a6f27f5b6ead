"""The analyses, one package per question: safetywashing, inflation, sandbagging, probes.

:func:`load_result` reads any saved result back (see :data:`RESULT_TYPES`).
"""

from evalgap.analyses._registry import RESULT_TYPES, load_result, result_type

__all__ = ["RESULT_TYPES", "load_result", "result_type"]
