package main

import (
	"os"

	"github.com/scimbridge/scimbridge/config"
)

// envConfig names the config file when --config is not given.
const envConfig = "SCIMBRIDGE_CONFIG"

// configFile is the config path in use: --config, else $SCIMBRIDGE_CONFIG,
// else ./config.yaml.
func configFile() string {
	if p, explicit := explicitConfig(); explicit {
		return p
	}
	return configPath
}

// configFlagSet says whether --config was given (set in init: rootCmd's
// own initialisation refers to what uses it).
var configFlagSet = func() bool { return false }

func init() {
	configFlagSet = func() bool { return rootCmd.PersistentFlags().Changed("config") }
}

func explicitConfig() (string, bool) {
	if configFlagSet() {
		return configPath, true
	}
	if p := os.Getenv(envConfig); p != "" {
		return p, true
	}
	return "", false
}

// loadConfig loads the config file. One that was asked for (--config or
// $SCIMBRIDGE_CONFIG) must exist; the default ./config.yaml may be absent,
// and the bridge then runs from the environment alone (a container with
// no connectors needs no file).
func loadConfig() (*config.Config, error) {
	if p, explicit := explicitConfig(); explicit {
		return config.Load(p)
	}
	return config.LoadIfExists(configPath)
}
