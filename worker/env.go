package worker

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// applyEnv overrides configuration fields from WEIR_… environment variables, which is how ECS
// task definitions configure a container. The variable for a field is WEIR_ followed by its YAML
// path in upper case with "_" between levels: source.kafka.brokers is WEIR_SOURCE_KAFKA_BROKERS.
// Lists are comma-separated; durations use Go syntax ("25s"). A WEIR_ variable that names no
// field is an error, so a typo in a task definition fails at start instead of being ignored.
func applyEnv(cfg *Config, environ []string) error {
	fields := map[string]reflect.Value{}
	collectEnvFields(reflect.ValueOf(cfg).Elem(), "WEIR", fields)
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "WEIR_") || notConfig(name) {
			continue
		}
		f, ok := fields[name]
		if !ok {
			return fmt.Errorf("environment: %s names no configuration field", name)
		}
		if err := setFromString(f, val); err != nil {
			return fmt.Errorf("environment: %s: %w", name, err)
		}
	}
	return nil
}

// notConfig lists the WEIR_ variables that are not configuration: the test harnesses' switches
// and the cache directory the Kinesis tests install kinesalite into.
func notConfig(name string) bool {
	return strings.HasPrefix(name, "WEIR_TEST_") || name == "WEIR_NPM_CACHE"
}

// collectEnvFields maps every settable leaf field under v to its variable name.
func collectEnvFields(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := strings.Split(sf.Tag.Get("yaml"), ",")
		fv := v.Field(i)
		if len(tag) > 1 && tag[1] == "inline" {
			collectEnvFields(fv, prefix, out)
			continue
		}
		if tag[0] == "" || tag[0] == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag[0])
		switch {
		case fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Time{}):
			collectEnvFields(fv, name, out)
		case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Bool:
			out[name] = fv
		default:
			out[name] = fv
		}
	}
}

func setFromString(f reflect.Value, s string) error {
	if f.Type() == reflect.TypeOf(time.Time{}) {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return err
		}
		f.Set(reflect.ValueOf(ts))
		return nil
	}
	if f.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Pointer:
		if f.Type().Elem().Kind() != reflect.Bool {
			return fmt.Errorf("unsupported type %v", f.Type())
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.Set(reflect.ValueOf(&b))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, f.Type().Bits())
		if err != nil {
			return err
		}
		f.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, f.Type().Bits())
		if err != nil {
			return err
		}
		f.SetUint(n)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(s, f.Type().Bits())
		if err != nil {
			return err
		}
		f.SetFloat(x)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %v", f.Type())
		}
		var items []string
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %v", f.Type())
	}
	return nil
}
