"""Test doubles that users' own tests can use too: a loopback OpenAI-compatible server and scripted models."""

from writer_r1.testing.openai_server import FaultPlan, OpenAICompatServer, fake_responder
from writer_r1.testing.pooling_server import PoolingServer
from writer_r1.testing.scripted import RecordedCall, ScriptedChatModel

__all__ = ["FaultPlan", "OpenAICompatServer", "PoolingServer", "RecordedCall", "ScriptedChatModel", "fake_responder"]
