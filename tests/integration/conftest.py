"""Fixtures for the integration tests: the emulator every client test talks to."""

from __future__ import annotations

from tests._emulator import emu as emu
from tests._emulator import fresh_emu as fresh_emu
from tests._emulator import in_process_emu as in_process_emu
from tests._emulator import shared_emu as shared_emu
