"""What the project's services share: database engines and migrations, PII-masked logging."""
