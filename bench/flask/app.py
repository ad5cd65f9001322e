"""The design of the Flask + JWT tutorials, as a baseline for bench/run: Flask-SQLAlchemy
for the users, Flask-JWT-Extended for the tokens, and its database blocklist so that a
revoked token is refused (the tutorials' "revoking tokens" chapter): one query for the
blocklist and one for the user on every request, as Gatehouse checks its session row.

    python app.py seed N     # creates N users in $FLASK_DB, prints an access token
    gunicorn -w CORES app:app
"""
import os
import sys
from datetime import datetime, timedelta, timezone

from flask import Flask, jsonify
from flask_jwt_extended import JWTManager, create_access_token, current_user, jwt_required
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.environ.get("FLASK_DB", "/tmp/flask.db")
app.config["JWT_SECRET_KEY"] = os.environ.get("FLASK_JWT_SECRET", "a bench secret of 32 bytes or more!")
app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(hours=1)
db = SQLAlchemy(app)
jwt = JWTManager(app)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    public_id = db.Column(db.String(36), unique=True, nullable=False)
    username = db.Column(db.String(32), unique=True, nullable=False)
    email = db.Column(db.String(254), unique=True, nullable=False)
    password_hash = db.Column(db.String(60), nullable=False)
    admin = db.Column(db.Boolean, default=False)
    created_at = db.Column(db.DateTime, nullable=False)


class TokenBlocklist(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    jti = db.Column(db.String(36), nullable=False, index=True)
    created_at = db.Column(db.DateTime, nullable=False)


@jwt.user_identity_loader
def user_identity(user):
    return user.public_id


@jwt.user_lookup_loader
def user_lookup(_header, payload):
    return User.query.filter_by(public_id=payload["sub"]).one_or_none()


@jwt.token_in_blocklist_loader
def revoked(_header, payload):
    return db.session.query(TokenBlocklist.id).filter_by(jti=payload["jti"]).scalar() is not None


@app.get("/api/me")
@jwt_required()
def me():
    user = current_user
    return jsonify(id=user.public_id, username=user.username, email=user.email,
                   admin=user.admin, created_at=user.created_at.isoformat())


def seed(count):
    with app.app_context():
        db.create_all()
        now = datetime.now(timezone.utc)
        rows = [dict(public_id=f"00000000-0000-4000-8000-{n:012d}", username=f"user{n:06d}",
                     email=f"user{n:06d}@example.com", password_hash="x" * 60, admin=False,
                     created_at=now) for n in range(count)]
        db.session.execute(User.__table__.insert(), rows)
        db.session.commit()
        print(create_access_token(identity=db.session.get(User, 1)))


if __name__ == "__main__" and sys.argv[1:2] == ["seed"]:
    seed(int(sys.argv[2]))
