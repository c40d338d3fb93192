"""The one configuration model: TOML file < SITWELL_* environment < command-line flags."""

from monitor.config.settings import (
    AnalysisConfig,
    ConfigError,
    DashboardConfig,
    MqttConfig,
    NotifyConfig,
    RulesConfig,
    SerialConfig,
    Settings,
    SimConfig,
    StoreConfig,
    default_config_path,
    default_db_path,
    load_settings,
)

__all__ = [
    "AnalysisConfig",
    "ConfigError",
    "DashboardConfig",
    "MqttConfig",
    "NotifyConfig",
    "RulesConfig",
    "SerialConfig",
    "Settings",
    "SimConfig",
    "StoreConfig",
    "default_config_path",
    "default_db_path",
    "load_settings",
]
