"""Memory: the criteria library and the experience memory, over a LangGraph store."""
