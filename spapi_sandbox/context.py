"""The running sandbox's shared parts (settings, state, tokens, limiters, faults, call counts), on ``app.state``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import Request

from .call_counts import CallCounts
from .config import SandboxConfig
from .faults import Faults
from .lwa import AccessTokens
from .ratelimit import ApplicationCaps, RateLimiter
from .state import SandboxState


@dataclass
class Sandbox:
    config: SandboxConfig
    state: SandboxState
    tokens: AccessTokens
    limiter: RateLimiter
    faults: Faults
    app_caps: ApplicationCaps = field(default_factory=ApplicationCaps)
    calls: CallCounts = field(default_factory=CallCounts)
    started_at: float = field(default_factory=time.time)

    @classmethod
    def create(cls, config: SandboxConfig) -> Sandbox:
        state = SandboxState(config.state_dir, config.seed)
        return cls(
            config=config,
            state=state,
            tokens=AccessTokens(state.secret, config.time_scale),
            limiter=RateLimiter(config.time_scale),
            faults=Faults(config.seed),
            app_caps=ApplicationCaps(config.time_scale),
        )


def sandbox_of(request: Request) -> Sandbox:
    return request.app.state.sandbox
