"""The one configuration model: TOML file < SITWELL_* environment < command-line flags.

Validated once at start; every error names the key, the value and what is allowed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from platformdirs import user_config_dir, user_data_dir
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from monitor.config.parse import parse_duration

APP_NAME = "sitwell"


def _in_unit(unit: Literal["s", "min"]) -> BeforeValidator:
    def read(value: Any) -> Any:
        # text is a duration as people write it ("25 min", "1h", "90s"); numbers stay numbers
        if not isinstance(value, str):
            return value
        return parse_duration(value, default_unit=unit) / (60.0 if unit == "min" else 1.0)

    return BeforeValidator(read)


# A setting in seconds or minutes: a number in that unit, or a duration in words (parse.py).
Seconds = Annotated[float, _in_unit("s")]
Minutes = Annotated[float, _in_unit("min")]


def default_config_path() -> Path:
    return Path(user_config_dir(APP_NAME)) / "config.toml"


def default_db_path() -> Path:
    return Path(user_data_dir(APP_NAME)) / "sitwell.db"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SerialConfig(Section):
    port: str | None = Field(None, description="serial port, pty or pyserial URL")
    codec: Literal["binary", "text", "detect"] = "detect"
    baud: int = Field(115200, ge=300, le=4_000_000)
    rows: int = Field(16, ge=4, le=64)
    cols: int = Field(16, ge=4, le=64)
    max_value: int = Field(4095, ge=1, le=65535)
    reconnect_max_s: Seconds = Field(10.0, gt=0, le=300)


class MqttConfig(Section):
    host: str | None = None
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    topic_prefix: str = Field("sitwell", pattern=r"^[A-Za-z0-9_/-]{1,64}$")
    cushions: list[str] = Field(default_factory=list, description="empty: all cushions (+)")
    keepalive: int = Field(30, ge=5, le=3600)
    max_payload: int = Field(64 * 64 * 2 + 64 * 1024, ge=1024)
    ha_discovery: bool = False
    ha_prefix: str = "homeassistant"
    reconnect_max_s: Seconds = Field(30.0, gt=0, le=600)
    # With a `+` subscription anyone on the broker can invent cushions, and at most
    # max_cushions are kept: a cushion silent this long is forgotten, so a new one is not
    # refused until a restart. Configured `cushions` never expire.
    cushion_expiry_s: Seconds = Field(3600.0, ge=10, le=30 * 86400,
                                    description="seconds of silence after which an MQTT cushion is forgotten")
    # One daemon serves an office floor (docs/performance.md: 1,000 cushions at 10 Hz on one
    # core); the bound is what keeps a flood of invented ids from exhausting memory.
    max_cushions: int = Field(2000, ge=1, le=20000,
                              description="cushions one daemon keeps at most; more are refused (counted in /healthz)"
                              " until a silent one expires")
    # Several daemons on one broker: "i/n" takes the cushions whose crc32(id) % n == i - 1
    # (docs/scaling.md); the others cost a topic check each and are counted, not analysed.
    partition: str | None = Field(None, description='"i/n": this daemon analyses partition i of n'
                                  " (by a hash of the cushion id); unset: every cushion")
    # MQTT 5 Receive Maximum: how many QoS 1 frames the broker may have in flight to us
    # unacknowledged (the rest wait in its queue, max_queued_messages: docs/scaling.md)
    receive_maximum: int = Field(100, ge=1, le=65535)

    @field_validator("partition")
    @classmethod
    def _partition(cls, v: str | None) -> str | None:
        if v is None or v.strip() == "":
            return None
        index, sep, parts = v.strip().partition("/")
        if not sep or not index.strip().isdigit() or not parts.strip().isdigit():
            raise ValueError(f'mqtt.partition must be "i/n" (e.g. "1/2": the first of two daemons), got {v!r}')
        i, n = int(index), int(parts)
        if not 1 <= n <= 1024 or not 1 <= i <= n:
            raise ValueError(f"mqtt.partition {v!r}: need 1 <= i <= n <= 1024 (i is this daemon's share, 1-based)")
        return f"{i}/{n}"

    def partition_parts(self) -> tuple[int, int] | None:
        """(i, n) of mqtt.partition, or None."""
        if self.partition is None:
            return None
        i, n = self.partition.split("/")
        return int(i), int(n)

    @field_validator("cushions")
    @classmethod
    def _cushion_ids(cls, v: list[str]) -> list[str]:
        from monitor.model import valid_cushion_id

        bad = [c for c in v if not valid_cushion_id(c)]
        if bad:
            raise ValueError(f"cushion ids must match [A-Za-z0-9_-]{{1,64}}, got {bad}")
        return v


class SimConfig(Section):
    scenario: str = Field("workday", description="named scenario or a scenario file")
    speed: float = Field(1.0, gt=0, le=10_000)
    seed: int = 1
    rows: int = Field(16, ge=4, le=64)
    cols: int = Field(16, ge=4, le=64)
    rate_hz: float = Field(10.0, ge=1, le=100)


class DashboardConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    token: str | None = Field(None, description="required for state changes when not on loopback")

    @field_validator("token")
    @classmethod
    def _token(cls, v: str | None) -> str | None:
        # A token of blanks (or with blanks around it) could never be presented in a header.
        if v is not None and (not v.strip() or v != v.strip()):
            raise ValueError("must be non-blank and without spaces around it")
        return v


class StoreConfig(Section):
    db: Path = Field(default_factory=default_db_path)
    record: Path | None = Field(None, description="also write raw frames to this recording file")


class RulesConfig(Section):
    """CONTRACT section 6; times in seconds unless the name says minutes."""

    occupied_after_s: Seconds = Field(3.0, ge=0, le=60)
    empty_after_s: Seconds = Field(3.0, ge=0, le=60)
    min_break_s: Seconds = Field(60.0, ge=10, le=3600)
    sit_limit_min: Minutes = Field(25.0, ge=5, le=120)
    repeat_every_min: Minutes = Field(5.0, ge=1, le=120)
    uneven_threshold: float = Field(0.10, ge=0.02, le=0.45)
    uneven_after_s: Seconds = Field(120.0, ge=5, le=3600)
    crossed_after_s: Seconds = Field(120.0, ge=5, le=3600)
    slouch_after_s: Seconds = Field(180.0, ge=5, le=3600)
    cooldown_min: Minutes = Field(10.0, ge=0, le=240)
    posture_grace_s: Seconds = Field(
        2.0, ge=0, le=30, description="a posture interruption shorter than this does not restart its timer"
    )
    working_hours: str | None = Field(None, description='e.g. "09:00-17:30"; None: always')
    working_days: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4, 5, 6],
        min_length=1,
        max_length=7,
        description="days reminders may come, 0 = Monday … 6 = Sunday",
    )
    quiet_hours: list[str] = Field(default_factory=list, description='e.g. ["12:00-13:00"]')
    do_not_disturb: bool = False
    # Reminder extensions (docs/reminders.md, "Beyond the contract"); off or contract-neutral by default.
    prewarn: bool = Field(False, description="a gentle sit_warning heads-up before the first sit_too_long of a spell")
    prewarn_s: Seconds = Field(60.0, ge=5, le=600, description="how long before sit_too_long the heads-up comes")
    max_snoozes: int | None = Field(None, ge=0, le=100, description="snoozes allowed per spell; None: unlimited")
    strict: bool = Field(False, description="sit_too_long repeats every minute, cannot be snoozed, until a real break")
    offload_drop: float = Field(
        0.30, ge=0.05, le=0.9, description="a sit bone counts as offloaded this far below its upright level"
    )
    offload_s: Seconds = Field(15.0, ge=3, le=600, description="... for this long (or the seat empty this long)")
    dose_imbalance: float = Field(
        0.10,
        ge=0.02,
        le=0.5,
        description="sit_too_long names the side whose sit-bone dose share is this far above half",
    )
    calendar: str | None = Field(
        None, description="ICS file or URL (file://, http(s)://): no reminders during busy events"
    )
    calendar_refresh_min: Minutes = Field(15.0, ge=1, le=1440)
    sitstand: bool = Field(False, description="sit-stand desk cycle: stand_up and may_sit reminders")
    sitstand_sit_min: Minutes = Field(20.0, ge=5, le=120)
    sitstand_stand_min: Minutes = Field(8.0, ge=1, le=120)
    sitstand_move_min: Minutes = Field(2.0, ge=0, le=60)

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        if v is not None:
            parse_hours(v)
        return v

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v: list[str]) -> list[str]:
        for item in v:
            parse_hours(item)
        return v


class AnalysisConfig(Section):
    sensitivity: float = Field(1.0, ge=0.25, le=4.0, description="higher: posture changes flagged sooner")
    occupancy_kg: float = Field(8.0, ge=2, le=40, description="rough body-load threshold")
    max_delay_ms: int = Field(
        250, ge=0, le=1000,
        description="the daemon gathers a cushion's frames for up to this long and analyses them in one"
        " batch: a fraction of the CPU, results shown up to this much later; 0: every frame at once",
    )
    max_delay_under_load_ms: int = Field(
        500, ge=0, le=2000,
        description="with many cushions due at once the daemon waits up to this long (not max_delay_ms) so"
        " each batch is bigger and costs less per frame; 0 or below max_delay_ms: never longer",
    )
    queue_per_cushion: int = Field(
        256, ge=4, le=65536,
        description="frames a cushion may have waiting for analysis; past half of it the cushion's frames"
        " are thinned evenly (counted as shed in /healthz)",
    )


class MountingEntry(Section):
    """How one cushion lies and is wired (monitor/calibration/mounting.py undoes it)."""

    orientation: Literal["normal", "rotate90", "rotate180", "rotate270"] = Field(
        "normal", description="how the cushion lies: rotate180 turned round (front <-> back), rotate90 /"
        " rotate270 a quarter turn (as `sitwell sim --mount` names them)",
    )
    mirror: bool = Field(False, description="left <-> right swapped (laid face down, columns wired in reverse)")
    invert: bool = Field(False, description="readings fall with pressure (the divider wired the other way)")


class MountingConfig(MountingEntry):
    """The mounting of every cushion, and per cushion id where one differs."""

    cushions: dict[str, MountingEntry] = Field(
        default_factory=dict, description='per cushion id, e.g. [mounting.cushions.desk-1] orientation = "rotate180"'
    )

    @field_validator("cushions")
    @classmethod
    def _cushion_ids(cls, v: dict[str, MountingEntry]) -> dict[str, MountingEntry]:
        from monitor.model import valid_cushion_id

        bad = [c for c in v if not valid_cushion_id(c)]
        if bad:
            raise ValueError(f"cushion ids must match [A-Za-z0-9_-]{{1,64}}, got {bad}")
        return v

    def for_cushion(self, cushion: str) -> MountingEntry:
        return self.cushions.get(cushion) or MountingEntry(
            orientation=self.orientation, mirror=self.mirror, invert=self.invert
        )


class NotifyConfig(Section):
    desktop: bool = Field(False, description="also show reminders as desktop notifications (notify-send)")


class JournalConfig(Section):
    """The pain and progress journal (docs/journal.md)."""

    enabled: bool = Field(True, description="the journal card, API and commands; off: hidden, nothing logged")
    prompt_times: list[str] = Field(
        default_factory=list, description='ask "how is the pain?" at these local times, e.g. ["17:30"]')
    prompt_after_spell_min: float | None = Field(
        None, ge=10, le=480, description="also ask after a sitting spell this long (minutes); None: never")
    max_prompts_per_day: int = Field(2, ge=0, le=12, description="prompts shown per day at most")
    min_days_for_associations: int = Field(
        14, ge=14, le=365, description="days with entries before 'what seems to help' says anything")
    mqtt_entity: bool = Field(True, description="a Home Assistant number entity for pain, when MQTT is configured")

    @field_validator("prompt_times")
    @classmethod
    def _clock_times(cls, value: list[str]) -> list[str]:
        for item in value:
            m = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", item.strip())
            if not m:
                raise ValueError(f"journal.prompt_times: {item!r} is not a time of day HH:MM (e.g. \"17:30\")")
        return [item.strip() for item in value]


class Settings(BaseSettings):
    """Everything sitwell reads at start."""

    model_config = SettingsConfigDict(
        env_prefix="SITWELL_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    input: Literal["sim", "serial", "mqtt"] | None = Field(
        None, description="where frames come from; default: serial if a port is set, mqtt if a host is set, else sim"
    )
    cushion: str = Field("cushion-1", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    serial: SerialConfig = Field(default_factory=SerialConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    sim: SimConfig = Field(default_factory=SimConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    mounting: MountingConfig = Field(default_factory=MountingConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)

    _toml_file: Path | None = None

    @model_validator(mode="after")
    def _pick_input(self) -> Settings:
        if self.input is None:
            object.__setattr__(
                self,
                "input",
                "serial" if self.serial.port else "mqtt" if self.mqtt.host else "sim",
            )
        if self.input == "serial" and not self.serial.port:
            raise ValueError("input is 'serial' but serial.port is not set (use --serial PORT)")
        if self.input == "mqtt" and not self.mqtt.host:
            raise ValueError("input is 'mqtt' but mqtt.host is not set (use --mqtt HOST[:PORT])")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = _CONFIG_FILE.get("path")
        if toml is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)


_CONFIG_FILE: dict[str, Path | None] = {"path": None}


class ConfigError(Exception):
    """A configuration a user must fix; str() is a message for them."""


def parse_hours(text: str) -> tuple[int, int]:
    """'09:00-17:30' -> (540, 1050) minutes since midnight."""
    try:
        a, b = text.split("-")
        ha, ma = (int(x) for x in a.strip().split(":"))
        hb, mb = (int(x) for x in b.strip().split(":"))
        start, end = ha * 60 + ma, hb * 60 + mb
        if not (0 <= ha < 24 and 0 <= ma < 60 and 0 <= hb <= 24 and 0 <= mb < 60 and end <= 24 * 60):
            raise ValueError
        return start, end
    except ValueError:
        raise ValueError(f"{text!r} is not a time range like '09:00-17:30'") from None


def _deep_set(d: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for p in parts[:-1]:
        d = d.setdefault(p, {})
    d[parts[-1]] = value


def load_settings(config_file: Path | str | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Build the settings: file, then environment, then `overrides` (dotted keys from the CLI).

    Raises ConfigError with one line per problem.
    """
    path: Path | None = Path(config_file).expanduser() if config_file else None
    if path is None:
        env_path = os.environ.get("SITWELL_CONFIG")
        if env_path:
            path = Path(env_path).expanduser()
        elif default_config_path().exists():
            path = default_config_path()
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    init: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if value is not None:
            _deep_set(init, key, value)
    _CONFIG_FILE["path"] = path
    try:
        settings = Settings(**init)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path)) from None
    except SettingsError as exc:  # a SITWELL_<SECTION> variable that is not JSON
        raise ConfigError(_settings_error_text(exc)) from None
    except RecursionError:
        raise ConfigError(f"{path or 'configuration'}: nested too deeply to be a sitwell config") from None
    except ValueError as exc:  # TOML syntax errors
        raise ConfigError(f"{path or 'configuration'}: {exc}") from None
    finally:
        _CONFIG_FILE["path"] = None
    settings._toml_file = path
    return settings


def _settings_error_text(exc: Exception) -> str:
    m = re.search(r'field "(\w+)" from source "(\w+)"', str(exc))
    if m and m.group(2) == "EnvSettingsSource":
        var = f"SITWELL_{m.group(1).upper()}"
        return (f"config error: environment {var} is not valid JSON; set the whole section as a JSON object "
                f"(e.g. {var}='{{\"key\": value}}') or one key as {var}__KEY=value")
    return f"config error: {exc}"


def format_validation_error(exc: ValidationError, path: Path | None = None) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(config)"
        key = key if len(key) <= 60 else key[:57] + "..."
        value = err.get("input")
        msg = str(err["msg"]).removeprefix("Value error, ")  # our validators speak for themselves
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        msg = msg.removeprefix("Value error, ")
        msg = msg if len(msg) <= 120 else msg[:117] + "..."
        text = repr(value)
        # A value from a hostile or broken file may be huge; one line stays one line.
        shown = "" if isinstance(value, dict) else f" = {text if len(text) <= 60 else text[:57] + '...'}"
        lines.append(f"config error: {key}{shown}: {msg}")
    if path is not None:
        lines.append(f"(config file: {path}; environment SITWELL_*; command-line flags)")
    return "\n".join(lines)
