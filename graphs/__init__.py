"""LangGraph state machines: the Grounded-Theory criteria graph and the MRPO reflection graph."""
