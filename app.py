from fargate_env.app import main

main()
