from fargate_env.app import app_from_environment

app_from_environment().synth()
