"""The web chat's channel shares its sockets through Redis only when the environment names
a Redis (the production profile); `make run` keeps python-socketio's local manager."""

from __future__ import annotations

from socketio import AsyncRedisManager, AsyncServer

from channels.socketio import DEFAULT_REDIS_CHANNEL, redis_manager, share_through_redis


def test_no_redis_named_no_shared_manager() -> None:
    assert redis_manager({}) is None


def test_the_rate_limit_redis_serves_socketio_too() -> None:
    manager = redis_manager({"URP_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert isinstance(manager, AsyncRedisManager)
    assert manager.redis_url == "redis://127.0.0.1:6379/0"
    assert manager.channel == DEFAULT_REDIS_CHANNEL


def test_a_redis_and_a_channel_of_its_own() -> None:
    manager = redis_manager(
        {
            "URP_REDIS_URL": "redis://127.0.0.1:6379/0",
            "URP_SOCKETIO_REDIS_URL": "redis://redis.example:6380/2",
            "URP_SOCKETIO_CHANNEL": "urp-arezzo",
        }
    )
    assert manager is not None
    assert manager.redis_url == "redis://redis.example:6380/2"
    assert manager.channel == "urp-arezzo"


def test_the_server_emits_through_the_shared_manager() -> None:
    sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
    manager = redis_manager({"URP_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert manager is not None
    share_through_redis(sio, manager)
    assert sio.manager is manager
    assert manager.server is sio
    assert not sio.manager_initialized  # the Redis listener starts with the first client
