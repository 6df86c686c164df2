"""Code both apps use: configuration, errors, security, sessions, jobs, notifications, i18n."""
