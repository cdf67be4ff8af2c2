/**
 * @opc-lite/mqtt — feeds an opc-lite server from an MQTT broker and publishes its readings back
 * (docs/INGEST.md, "MQTT").
 *
 * @packageDocumentation
 */
export {
  startMqttBridge,
  MqttBridgeError,
  MQTT_BRIDGE_DEFAULTS,
  type MqttBridge,
  type MqttBridgeOptions,
  type MqttBridgeStats,
} from './bridge.js';
