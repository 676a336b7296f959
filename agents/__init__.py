"""Agents: one role per module (coder, inducer, critic, judge, reflector, writer, extractor)."""
