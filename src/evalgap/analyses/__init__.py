"""The analyses, one package per question: safetywashing, inflation, sandbagging, probes."""
