insert into users (username, role, scope, password_hash, demo, created_at)
values ($username, $role, $scope, $password_hash, $demo, $created_at)
